"""Build hook for setuptools; the project's metadata is in pyproject.toml.

It exists for one thing pyproject.toml cannot say: ship the top-level
``resources/`` folder (style sheet, icons, report template, desktop entry) as
the ``modelward._resources`` package next to the code found under ``app/``.
:func:`modelward.core.paths.resource` finds it there in an installed wheel.
"""

from setuptools import find_namespace_packages, setup

CODE = find_namespace_packages("app", include=["modelward*"])
# resources/ and its subfolders (icons/, templates/), as modelward._resources[.sub]
RESOURCES = ["modelward._resources"] + [
    f"modelward._resources.{sub}" for sub in find_namespace_packages("resources")
]

setup(
    packages=CODE + RESOURCES,
    package_dir={"": "app", "modelward._resources": "resources"},
)
