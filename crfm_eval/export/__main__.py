"""`python -m crfm_eval.export --format helm|lm-eval RUN_DIR OUT_DIR`."""

import sys

from crfm_eval.export.cli import main

if __name__ == "__main__":
    sys.exit(main())
