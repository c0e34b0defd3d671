from tenderhall.cli import main

main()
