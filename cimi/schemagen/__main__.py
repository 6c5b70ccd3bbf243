"""``python -m cimi.schemagen``: see :func:`cimi.schemagen.main`."""

from cimi.schemagen import main

raise SystemExit(main())
