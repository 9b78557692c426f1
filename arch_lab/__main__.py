import sys

from arch_lab.cli import main

sys.exit(main())
