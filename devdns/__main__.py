from devdns.cli import main

raise SystemExit(main())
