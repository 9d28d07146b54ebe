"""Definitions: what an operator defines, and how a value is judged against it.

It owns a webhook definition and its product rules (``_definitions``), the parameter types and
answer rules a value is converted and judged by (``_types``, ``_answers``, ``_arguments``), reply
templates (``_templates``), the names of the bot's Rasa entries and its default sentences
(``_naming``, ``_sentences``), foreign input errors in plain words (``_input_errors``,
``_texts``), and the budgets of calls per minute (``_budgets``: their bounds, and the statement
a call is counted by). It uses the error tree and egress/'s URL rules and message shapes; store/
keeps what it checked, calls/ and the adapters (the admin API, the bot's domain, the action
server's questions) apply it.
"""
