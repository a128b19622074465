"""``python -m course_utils``: the same as the ``course-utils`` command."""

import sys

from .cli import main

__all__: list[str] = []  # run, not imported: nothing here is for other code

sys.exit(main())
