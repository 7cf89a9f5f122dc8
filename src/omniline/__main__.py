from omniline.cli import main

main()
