"""Allow `python -m exporter`."""

from exporter.launch import main

main()
