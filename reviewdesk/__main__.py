import sys

from reviewdesk.main import main

sys.exit(main())
