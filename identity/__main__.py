"""``python -m identity``: the identity command (see identity.cli)."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
