"""``python -m search`` is the ``bisearch`` command."""

from search.cli import main

if __name__ == "__main__":
    main()
