"""`python -m fastnn.keras train.py [args]`: run an unchanged Keras script on fastnn."""
import sys

from fastnn.keras._runner import main

if __name__ == "__main__":
    sys.exit(main())
