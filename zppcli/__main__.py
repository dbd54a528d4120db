from zppcli.cli import main

main()
