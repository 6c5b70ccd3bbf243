"""Packaging metadata for Concord.

setup.py is the single source of the project's metadata; pyproject.toml only
configures tools (and names the build backend). Install for development with::

    pip install -e '.[test,docs]'

``make test`` and ``make serve`` do this for you inside ``.venv``.
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).resolve().parent

TOP_LEVEL = ["engine", "concord", "occi", "cimi", "conformance", "schemas"]
# find_namespace_packages rather than find_packages: a directory needs no
# __init__.py to ship. That matters for schemas/ and engine/migrations/versions/,
# which hold data files only, and keeps a package whose __init__.py has not been
# written yet from silently missing from the install.
PACKAGES = find_namespace_packages(
    include=[*TOP_LEVEL, *(f"{name}.*" for name in TOP_LEVEL)],
    exclude=["*.__pycache__"],
)

# Runtime dependencies. Lower bounds only, where a feature we use needs them, so
# that Concord installs next to whatever versions a deployment already has.
INSTALL_REQUIRES = [
    "pyramid>=2",
    "waitress",
    "SQLAlchemy>=2.0",
    "PyMySQL",
    "alembic",
    "lxml",
    "jsonschema",
    "libvirt-python",  # built from source: needs libvirt-dev, pkg-config and a C compiler
    "argon2-cffi",
    "cryptography",  # Fernet: API-key secrets encrypted at rest under the server key
    "prometheus-client",
    "PasteDeploy",
]

TEST_REQUIRES = [
    "pytest",
    "pytest-xdist",
    "hypothesis",
    "WebTest",
    # The checkers are pinned: a new release of either can change its verdict on
    # unchanged code (new rules, a new formatting style), which would turn CI red
    # in a fresh clone for no change of ours. Bump them on purpose, in one commit.
    "ruff==0.17.6",
    "mypy==2.4.1",
    # Stubs for dependencies that ship no type information of their own.
    "types-lxml",  # more complete than lxml-stubs (nsmap with a None key, ...)
    "types-jsonschema",
    "types-PyMySQL",
    "types-waitress",
    "types-WebOb",
]

DOCS_REQUIRES = [
    "sphinx",
]

setup(
    name="concord",
    version="0.1.0",
    description=(
        "A standards-first IaaS server: one resource engine exposed through "
        "OGF OCCI 1.2 and DMTF CIMI 2.0"
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=PACKAGES,
    # Data files that must travel with the code in a wheel or an sdist install:
    # the JSON Schemas and the XSD are loaded at start-up, and the Alembic
    # environment (env.py, script.py.mako, versions/) is run by `concord db upgrade`
    # without any alembic.ini, so it has to be importable from the installed tree.
    package_data={
        "schemas": ["*.json", "*.xsd", "**/*.json", "**/*.xsd"],
        "engine": [
            "migrations/env.py",
            "migrations/script.py.mako",
            "migrations/versions/*.py",
        ],
    },
    zip_safe=False,  # schemas and migrations are read from the file system
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "test": TEST_REQUIRES,
        "docs": DOCS_REQUIRES,
    },
    entry_points={
        "console_scripts": [
            "concord = concord.cli.main:main",
        ],
        # `use = egg:concord` in a PasteDeploy .ini (pserve, gunicorn --paste).
        "paste.app_factory": [
            "main = concord.app:main",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Framework :: Pyramid",
        "Topic :: System :: Distributed Computing",
        "Operating System :: POSIX :: Linux",
    ],
)
