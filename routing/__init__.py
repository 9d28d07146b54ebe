"""The live router: a Rasa NLU component that routes requests to webhook actions saved after
training, within a second, on every replica.

It runs inside Rasa (Python 3.10, with Rasa's numpy and scipy) and never imports the plugin's
core: it polls the action server's ``/tenants/<tenant>/routing`` for the tenant's actions and
matches each message by meaning (sentence embeddings of all-MiniLM-L6-v2, run on one thread)
against their names, descriptions and example requests, and against the bot's own training
messages as counter-examples. In ``config.yml``, after the intent classifiers::

    - name: routing.component.LiveRouter
      threshold: 0.4
"""
