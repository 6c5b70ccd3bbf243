"""Packaging metadata for Concord.

setup.py is the single source of the project's metadata; pyproject.toml only
configures tools (and names the build backend). Install for development with::

    pip install -e '.[test,docs]'

``make test`` and ``make serve`` do this for you inside ``.venv``.
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).resolve().parent

TOP_LEVEL = ["engine", "concord", "occi", "cimi", "federation", "conformance", "schemas", "signing"]
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
    # Response bodies: encodes a 1,000-entry listing ten times faster than the
    # standard json module, same text in compact form (concord.compact_json).
    "orjson",
    "libvirt-python",  # built from source: needs libvirt-dev, pkg-config and a C compiler
    "argon2-cffi",
    "cryptography",  # Fernet: API-key secrets encrypted at rest under the server key
    # RFC 9421 message signatures and RFC 9530 Content-Digest for API keys (the
    # `signing` package); 3.0 verifies the digest against the body itself.
    "http-message-signatures>=3.0.0",
    "prometheus-client",
    "PasteDeploy",
    # Bearer JSON Web Tokens from federated identity providers: signature,
    # expiry and audience checks, and a JWKS client that caches the issuer's keys.
    "PyJWT[crypto]>=2.8",
]

TEST_REQUIRES = [
    "pytest",
    # The directory-queue tests write through dirq (the `apel` extra, below).
    "dirq",
    "pytest-xdist",
    "hypothesis",
    "WebTest",
    # The OpenID Connect issuer of the federation tests: its keys, JWKS and
    # signed tokens come from the Authlib project's JOSE library, so that
    # Concord's verification (PyJWT) is tested against another implementation.
    "joserfc",
    # EGI's GLUE 2.1 publisher: its model and formatter check the site document.
    "cloud-info-provider",
    # Real BMCs for the out-of-band fencer tests (OpenStack Ironic's emulators):
    # IPMI through virtualbmc (pyghmi's BMC server), Redfish through sushy-emulator.
    "virtualbmc",
    "sushy-tools",
    # cASO, EGI's accounting extractor: its APEL record model checks the
    # usage export (tests/unit/concord/test_usage_cli.py).
    "caso==5.2.2",
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
    # IM's OCCI connector (tests/integration/test_im_occi.py), the production EGI
    # OCCI client. `im` itself is installed by the Makefile's `env` target with
    # `pip install --no-deps -r tests/peers-no-deps.txt` (im==1.19.1): its
    # declared dependencies (ansible,
    # boto3, apache-libcloud, tosca-parser, scar, flask, hvac, ... about 70
    # distributions, ansible alone hundreds of MB) serve IM's other connectors and
    # its orchestration, which the connector never imports, and setup.py cannot
    # say "without its dependencies". What the connector does import is here:
    "radl",  # IM's resource description language (brings ply)
    "netaddr",
    "paramiko",  # IM.SSH, imported by IM.VirtualMachine
    "scp",  # likewise (IM warns at import without it)
    "PyYAML",
    "requests",
    "xmltodict",  # IM.AppDB, imported by the connector
    # atrope 2.0.0, EGI's image-list subscriber (tests/functional/test_image_lists.py),
    # is in tests/peers-no-deps.txt too: its declared dependencies include the
    # Glance and Keystone clients of its dispatchers, which the list verification
    # never imports. What atrope.image_list.hepix does import is here (oslo.config,
    # oslo.log, six and python-dateutil come with caso):
    "pyOpenSSL",
    "prettytable",
    "oslo.config",
    "oslo.log",
    "python-dateutil",
    "six",
]

APEL_REQUIRES = ["dirq"]

DOCS_REQUIRES = [
    "sphinx",
]

setup(
    name="concord",
    version="0.1.0",
    description=(
        "A standards-first IaaS server: one resource engine exposed through "
        "OGF OCCI 1.2 and DMTF CIMI (DSP0263 1.1.0 wire form)"
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
        # `concord usage export --queue DIR` and the `accounting_queue` setting:
        # APEL messages written into a directory queue through the dirq
        # package's QueueSimple, the layout APEL's ssmsend reads (cASO writes
        # through it too), so SSM sends them unmodified.
        "apel": APEL_REQUIRES,
        # bench/allocation.py --openstack: OpenStack placement in process.
        "bench": ["openstack-placement>=16", "wsgi-intercept"],
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
