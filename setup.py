"""Packages of the wheel; everything else is in pyproject.toml.

`conf/` stays at the top of the repository, where users expect Hydra's config groups, and is
shipped inside the package as `crfm_eval/conf` (see `crfm_eval.config_schema.conf_dir`). pyproject.toml
alone cannot both find the packages and map a folder from outside them, hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["crfm_eval", "crfm_eval.*"]), "crfm_eval.conf"],
    package_dir={"crfm_eval.conf": "conf"},
)
