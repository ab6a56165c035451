"""Model access shared by both transports: the Service, its cache and the model clients.

The proxy (crfm_eval.proxy) serves this same Service over HTTP; a run uses it in-process or
through `RemoteService`, and never knows which.
"""
