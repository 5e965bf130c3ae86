from disguisednets.cli import main

raise SystemExit(main())
