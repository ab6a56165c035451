"""Sweeps: many runs of one suite, launched by Hydra's launchers (basic, joblib, submitit).

Each job records its outcome in its run folder (`job_status`), every job and the end of the sweep
rebuild the suite's summary.json from the run folders (`summary`), and a Hydra callback reports
failed jobs once the sweep is over (`callback`). There is no scheduler here: Hydra's launcher
decides where and when jobs run, and the shared cache and the run folders make them resumable.
"""
