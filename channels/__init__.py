"""Rasa 3.6 channel connectors the project ships: Telegram and Slack as Rasa's own, with what
they lack to serve real users fixed.

They run inside Rasa (Python 3.10) and never import the plugin's core. ``credentials.yml``
names them by module path instead of Rasa's short names; the webhook paths stay the same
(``/webhooks/telegram/webhook``, ``/webhooks/slack/webhook``)::

    channels.telegram.TelegramInput:
      access_token: ${TELEGRAM_TOKEN}
      ...

Both take an optional ``api_url``: the platform's API address (a self-hosted Telegram Bot API
server, or the tests' stand-ins); https, or http to a loopback address only.
"""
