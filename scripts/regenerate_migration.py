"""Rewrite one not-yet-released Alembic revision from the current models.

Usage: python scripts/regenerate_migration.py REV "message"

Applies every revision before REV to a scratch SQLite database, deletes the
REV file and autogenerates it again. Only for revisions that have never
landed on main: released migrations are never edited, a new one is added.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from engine.db import Database
from engine.schema import MIGRATIONS, alembic_config


def main(rev: str, message: str) -> None:
    versions = MIGRATIONS / "versions"
    for path in versions.glob(f"{rev}_*.py"):
        path.unlink()
    with tempfile.TemporaryDirectory() as scratch:
        database = Database(f"sqlite:///{Path(scratch) / 'scratch.sqlite'}")
        config = alembic_config(database)
        head = ScriptDirectory.from_config(config).get_current_head()
        if head is not None:
            command.upgrade(config, head)
        command.revision(config, message=message, autogenerate=True, rev_id=rev)
    created = next(versions.glob(f"{rev}_*.py"))
    target = versions / f"{rev}_{message.split(':')[0].strip().replace(' ', '_')}.py"
    created.rename(target)
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(target)], check=False)
    subprocess.run([sys.executable, "-m", "ruff", "check", "-q", "--fix", str(target)], check=False)
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
