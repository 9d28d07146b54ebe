"""Reply templates: what they can say, what they may not do, and their bounds."""

from __future__ import annotations

from typing import Any

import pytest

from webhooks import (
    InvalidDefinition,
    TemplateFailed,
    render_template,
    template_data,
    template_problem,
)
from webhooks.definitions._definitions import parse_definition
from webhooks.definitions._templates import MAX_REPLY, MAX_STEPS, RENDER_SECONDS

ORDER = {
    "status": "shipped",
    "eta": None,
    "lines": [{"name": "Jacket", "qty": 1}, {"name": "Scarf", "qty": 2}],
    "items": "the data's own key",
    "customer": {"address": {"city": "Lisbon"}},
    "gift": True,
}


def say(template: str, *, values: dict[str, Any] | None = None, result: Any = ORDER) -> str:
    return render_template(template, template_data(values or {}, result=result, status=200)).text


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("Order #{{ order_id }} is {{ result.status }}.", "Order #4521 is shipped.",
                     id="value-and-field"),
        pytest.param("{{ result.customer.address.city }}", "Lisbon", id="dotted-path"),
        pytest.param("{{ result['lines'][1].name }}", "Scarf", id="index"),
        pytest.param("{{ result.lines[-1].qty }}", "2", id="negative-index"),
        pytest.param("{% for line in result.lines %}- {{ line.name }} x{{ line.qty }}\n"
                     "{% endfor %}", "- Jacket x1\n- Scarf x2", id="one-per-line"),
        pytest.param("{{ result.lines | map(attribute='name') | join(', ') }}", "Jacket, Scarf",
                     id="joined"),
        pytest.param("{{ result.lines | length }} lines", "2 lines", id="length"),
        pytest.param("Arrives {{ result.eta | default('soon', true) }}", "Arrives soon",
                     id="default-for-null"),
        pytest.param("{{ result.tracking | default('no tracking yet') }}", "no tracking yet",
                     id="default-for-missing"),
        pytest.param("[{{ result.nothing.deeper.still }}]", "[]", id="missing-path-is-empty"),
        pytest.param("{{ result.items }}", "the data's own key", id="key-not-method"),
        pytest.param("{{ result.gift }}", "yes", id="boolean-as-words"),
        pytest.param("{{ result.customer }}", '{"address": {"city": "Lisbon"}}',
                     id="object-as-json"),
        pytest.param("{% if result.gift %}A gift.{% else %}Not a gift.{% endif %}", "A gift.",
                     id="if"),
        pytest.param("{{ values.order_id }} {{ status }}", "4521 200", id="values-and-status"),
    ],
)  # fmt: skip
def test_templates_say_the_values_and_the_result(template: str, expected: str) -> None:
    assert template_problem(template) is None
    assert say(template, values={"order_id": 4521}) == expected


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        pytest.param("{{ range(10) }}", "line 1: calls are not allowed", id="global-call"),
        pytest.param("{{ result.status.upper() }}", "calls are not allowed", id="method-call"),
        pytest.param("{{ ''.__class__.__mro__ }}", None, id="dunder-is-just-missing"),
        pytest.param("{{ 'a' * 1000000 }}", "arithmetic is not allowed", id="multiply"),
        pytest.param("{{ 9 ** 9 ** 9 }}", "arithmetic is not allowed", id="power"),
        pytest.param("{{ -result.qty }}", "arithmetic is not allowed", id="negation"),
        pytest.param("{{ a ~ b }}", "~ is not allowed", id="concat"),
        pytest.param("{% set x = 1 %}", "{% set %} is not allowed", id="set"),
        pytest.param("{% macro m() %}{% endmacro %}", "macros are not allowed", id="macro"),
        pytest.param("{% include 'x' %}", "cannot include", id="include"),
        pytest.param("{{ x | format(1) }}", "unknown filter 'format'", id="format-filter"),
        pytest.param("{{ x | center(99999999) }}", "unknown filter 'center'", id="center-filter"),
        pytest.param("{{ x is callable }}", "unknown test 'callable'", id="callable-test"),
        pytest.param("{% for a in x %}{% for b in x %}{% for c in x %}{% endfor %}{% endfor %}"
                     "{% endfor %}", "loops may be nested 2 deep", id="three-loops"),
        pytest.param("{% for a in x recursive %}{% endfor %}", "recursive", id="recursive"),
        pytest.param("{% for a in x %}{{ loop.index }}{% endfor %}", "loop variable",
                     id="loop-object"),
        pytest.param("Hello\n{{ result.status }", "line 2: unexpected '}'", id="syntax-line"),
        pytest.param("{% if x %}", "line 1:", id="unclosed"),
    ],
)  # fmt: skip
def test_what_is_not_data_is_refused_with_its_line(template: str, problem: str | None) -> None:
    found = template_problem(template)
    if problem is None:
        assert found is None
        assert say(template) == ""
    else:
        assert found is not None
        assert problem in found


def test_a_template_may_not_be_longer_than_the_limit() -> None:
    assert template_problem("x" * 2001) == "at most 2000 characters"


def test_nested_loops_stop_at_the_step_budget() -> None:
    many = {"xs": list(range(200))}
    with pytest.raises(TemplateFailed, match=f"more than {MAX_STEPS} items"):
        say("{% for a in result.xs %}{% for b in result.xs %}.{% endfor %}{% endfor %}",
            result=many)  # fmt: skip


def test_walking_filters_are_charged_and_refuse_text() -> None:
    with pytest.raises(TemplateFailed, match="more than"):
        say("{{ result.xs | join(',') }}", result={"xs": list(range(MAX_STEPS + 1))})
    with pytest.raises(TemplateFailed, match="needs a list, not text"):
        say("{{ result.text | join(',') }}", result={"text": "a" * 50_000})
    with pytest.raises(TemplateFailed, match="needs a list, not text"):
        say("{{ result.text | sort }}", result={"text": "abc"})


def test_a_slow_template_stops_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deadline is checked at each step: a clock that has passed it stops the render."""
    import webhooks.definitions._templates as templates

    clock = iter(float(n) for n in range(1000))
    monkeypatch.setattr(templates.time, "perf_counter", lambda: next(clock))
    with pytest.raises(TemplateFailed, match=f"longer than {RENDER_SECONDS * 1000:.0f} ms"):
        say("{% for a in result.lines %}{{ a.name }}{% endfor %}")


def test_output_is_cut_at_the_reply_limit() -> None:
    rendered = render_template(
        "{% for a in result.xs %}{{ a }} {% endfor %}",
        template_data({}, result={"xs": ["word"] * 400}),
    )
    assert rendered.cut
    assert len(rendered.text) <= MAX_REPLY


def test_missing_fields_are_listed_for_the_preview() -> None:
    rendered = render_template("{{ result.eta }} {{ result.tracking }}", {"result": ORDER})
    assert rendered.missing == ("tracking",)


def test_a_filter_given_the_wrong_data_fails_without_its_data() -> None:
    with pytest.raises(TemplateFailed) as caught:
        say("{{ result.lines | sum }}")
    assert "Jacket" not in str(caught.value)


def test_a_definitions_replies_are_checked_when_saved() -> None:
    base = {"name": "order_status", "description": "Order", "url": "https://api.example.com/o"}
    with pytest.raises(InvalidDefinition) as caught:
        parse_definition(
            base | {"replies": {"success": "{{ range(3) }}", "bogus": "x", "not_found": "{{ x }"}}
        )
    by_field = {error.field: error for error in caught.value.errors}
    assert by_field["replies.success"].code == "invalid_template"
    assert "line 1: calls are not allowed" in by_field["replies.success"].message
    assert by_field["replies.bogus"].code == "unknown_field"
    assert "line 1" in by_field["replies.not_found"].message
    saved = parse_definition(base | {"replies": {"success": "{{ result.status }}"}})
    assert saved.replies == {"success": "{{ result.status }}"}


@pytest.mark.parametrize(
    ("source", "ok"),
    [
        pytest.param("sender_id", True, id="sender"),
        pytest.param("channel", True, id="channel"),
        pytest.param("slot:customer_id", True, id="slot"),
        pytest.param("slot:", False, id="slot-without-name"),
        pytest.param("slot:bad name", False, id="slot-bad-name"),
        pytest.param("header:x", False, id="unknown"),
    ],
)
def test_a_parameters_source_is_checked(source: str, ok: bool) -> None:
    data = {
        "name": "points",
        "description": "Points",
        "url": "https://api.example.com/p",
        "parameters": [{"name": "customer", "description": "Customer", "source": source}],
    }
    if ok:
        assert parse_definition(data).parameters[0].source == source
    else:
        with pytest.raises(InvalidDefinition) as caught:
            parse_definition(data)
        assert caught.value.errors[0].field == "parameters[0].source"


def test_nested_joins_cannot_multiply_their_output() -> None:
    """A join's separator is what it multiplies: joins nested in separators would grow as the
    product of their lengths within the step budget."""
    data = {"result": {"a": ["x"] * 300}}
    with pytest.raises(TemplateFailed, match="separator is at most"):
        render_template(
            "{{ result.a | join(result.a | join(result.a | join('x'))) }}",
            template_data({}, **data),
        )
    # A tuple written in the template is charged as a list is.
    written = "(" + "1," * 300 + ")"
    with pytest.raises(TemplateFailed, match="more than"):
        say("{% for i in " + written + " %}{{ " + written + " | join(',') | length }}{% endfor %}")


def test_sum_adds_numbers_only() -> None:
    with pytest.raises(TemplateFailed, match="numbers only"):
        say("{{ result.lines | map(attribute='qty') | sum(start=[]) }}")
    assert say("{{ result.lines | sum(attribute='qty') }}") == "3"


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("{% if result.total > 3 %}big{% endif %}", id="missing-compared"),
        pytest.param("{{ result.total | int }}", id="missing-filtered"),
    ],
)
def test_a_render_failure_of_any_kind_is_a_template_failure(template: str) -> None:
    assert template_problem(template) is None
    with pytest.raises(TemplateFailed):
        say(template, result=None)


def test_a_template_nested_too_deeply_is_refused_when_saved() -> None:
    assert template_problem("{{ " + "[" * 900 + "]" * 900 + " }}") == "nested too deeply"
