"""``python -m identity``: the identity command (see identity.service.cli)."""

from __future__ import annotations

import sys

from .service.cli import main

sys.exit(main())
