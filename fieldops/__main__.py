import sys

from fieldops.cli import main

sys.exit(main())
