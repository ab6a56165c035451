"""`python -m crfm_eval.export --format helm|lm-eval RUN_DIR OUT_DIR`."""

import sys

from crfm_eval.export.cli import main

sys.exit(main())
