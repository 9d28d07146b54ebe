"""``rasa run`` with its auth token from the environment, never on the command line.

Rasa 3.6 takes the token only as ``--auth-token``, and a command line is readable by every
local user (``ps``, ``/proc/PID/cmdline``); a process's environment only by its owner. So this
launcher, run by Rasa's Python, reads ``RASA_TOKEN`` (and drops it from the environment Rasa's
own children would inherit) and hands the option to Rasa's CLI inside the process: changing
``sys.argv`` leaves the command line the kernel shows as it was started, without the token.

    RASA_TOKEN=... .venv-bot/bin/python scripts/rasa_run.py [rasa run options]
"""

import os
import sys

from rasa.__main__ import main

token = os.environ.pop("RASA_TOKEN", "")
if not token:
    sys.exit("rasa_run.py: RASA_TOKEN is empty; Rasa's API would be open to anyone")
sys.argv = ["rasa", "run", "--auth-token", token, *sys.argv[1:]]
main()
