"""A stand-in for the function's zip, for the packaging tests of `make test`: a `bootstrap`
that says what it is and exits 1, zipped with fixed times (the same bytes every time, so the
asset hash a synthesised template names is stable).

    python3 tests/packaging/stand_in.py target/packaging/stand-in.zip

The real zip takes a release build (`make dist`); what the tests check of it, that the
package carries it and a synthesised template deploys exactly it, needs no real function.
"""

import sys
import zipfile
from pathlib import Path

BOOTSTRAP = b"""#!/bin/sh
echo "ds-snapshot-keeper: the packaging tests' stand-in, not the function (make dist builds it)" >&2
exit 1
"""


def write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(info, BOOTSTRAP)


if __name__ == "__main__":
    write(Path(sys.argv[1]))
