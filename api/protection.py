"""GraphQL request rules that depend on the request or its caller, decided from structure.

* **One operation, or a name.**  graphql-core refuses a document with several operations
  and no ``operationName`` (GraphQL spec, GetOperation), but Strawberry fills the missing
  name in with the first operation's, so the first one ran.  :class:`RequestGuard` refuses
  such a request before validation, with ``BAD_USER_INPUT`` at ``/operationName``.
* **Anonymous callers** (no bearer token: ``RequestContext.principal is None``) may not
  introspect the schema (``__schema``/``__type``; ``__typename`` stays) unless
  ``GRIDTWIN_ANONYMOUS_INTROSPECTION`` is on, and never get "Did you mean ...?" suggestions:
  graphql-core's ``hide_suggestions`` is set for them in validation (:class:`RequestGuard`)
  and in execution (:class:`GridTwinExecutionContext`, variable and argument coercion).
* **Bad variables are the client's error.**  graphql-core reports a variable that does not
  coerce (an enum typo, an Int beyond 32 bits, a missing field) as an error whose
  ``original_error`` is its own GraphQLError, which ``api.errors.should_mask`` (rightly: it
  cannot tell it from a bug) masks as "Unexpected error.".  :class:`GridTwinExecutionContext`
  turns every variable error into a ``BAD_USER_INPUT`` client error naming the variable,
  with a JSON pointer into ``variables`` and, for enums, the allowed values.

Wiring (``api/schema.py``): pass ``execution_context_class=GridTwinExecutionContext`` to the
schema and put :func:`protection_extensions` in its extensions in place of ``ValidationCache``
(:class:`RequestGuard` validates with its own cache, keyed by caller kind too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode, FieldNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, VariableDefinitionNode,
    get_named_type, is_enum_type, is_input_object_type, is_introspection_type, is_list_type, is_non_null_type,
)
from graphql.language.visitor import SKIP, VisitorAction
from graphql.utilities import type_from_ast, validate_input_value
from graphql.validation import ASTValidationRule, ValidationRule, validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from api.context import RequestContext
from api.errors import ClientError
from graph.validation import pointer_join

VALIDATION_CACHE_SIZE = 512
#: Rules Strawberry adds to every validation (its ``validate_document``), kept here as we validate ourselves.
_STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (MaybeNullValidationRule, OneOfInputValidationRule)


def is_anonymous(context: object) -> bool:
    """No verified bearer token behind the request (anything but our context counts as anonymous)."""
    return not isinstance(context, RequestContext) or context.principal is None


def _introspection_allowed(context: object) -> bool:
    return not is_anonymous(context) or (
        isinstance(context, RequestContext) and context.services.settings.anonymous_introspection)


class AnonymousIntrospectionRule(ValidationRule):
    """Refuses each introspection entry point (``__schema``, ``__type``) once, with UNAUTHENTICATED."""

    def enter_field(self, node: FieldNode, *_args: Any) -> VisitorAction:
        field_type = self.context.get_type()
        parent = self.context.get_parent_type()
        named = get_named_type(field_type) if field_type else None
        if named is None or not is_introspection_type(named) or (parent and is_introspection_type(parent)):
            return None
        self.report_error(GraphQLError(
            f"introspection ({node.name.value}) needs a bearer token: log in first", node,
            extensions={"code": "UNAUTHENTICATED"}))
        return SKIP


@lru_cache(maxsize=VALIDATION_CACHE_SIZE)
def _validate(schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...],
              hide_suggestions: bool) -> list[GraphQLError]:
    """Validation as Strawberry runs it, plus ``hide_suggestions``; cached like ``ValidationCache``."""
    return validate(schema, document, (*rules, *_STRAWBERRY_RULES), hide_suggestions=hide_suggestions)


def unnamed_operation_error(document: DocumentNode, operation_name: str | None) -> GraphQLError | None:
    """The refusal of a document with several operations when the request names none."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None or len(operations) < 2:
        return None
    names = ", ".join(op.name.value if op.name else "(unnamed)" for op in operations)
    message = f"the document holds {len(operations)} operations ({names}); name the one to run in operationName"
    return GraphQLError(message, operations, original_error=ClientError(
        message, "BAD_USER_INPUT", [{"pointer": "/operationName", "message": "required with several operations"}]))


class RequestGuard(SchemaExtension):
    """Refuses unnamed multi-operation documents; validates per caller kind (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._requested_name: str | None = None

    def on_operation(self) -> Iterator[None]:
        # Before parsing, ExecutionContext.operation_name is what the request sent (after
        # parsing Strawberry substitutes the first operation's name when there is none).
        self._requested_name = self.execution_context.operation_name
        yield

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        assert document is not None  # on_validate runs after parsing
        refusal = unnamed_operation_error(document, self._requested_name)
        if refusal is not None:
            execution.pre_execution_errors = [refusal]
        else:
            rules = tuple(execution.validation_rules)
            if not _introspection_allowed(execution.context):
                rules = (*rules, AnonymousIntrospectionRule)
            execution.pre_execution_errors = _validate(execution.schema._schema, document, rules,
                                                       is_anonymous(execution.context))
        yield


def protection_extensions() -> list[Callable[[], SchemaExtension]]:
    """The extensions to add to the schema (in place of ``ValidationCache``)."""
    return [RequestGuard]


class GridTwinExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Hides suggestions from anonymous callers; makes variable errors BAD_USER_INPUT client errors."""

    @classmethod
    def build(cls, schema: GraphQLSchema, document: DocumentNode, root_value: Any = None,  # type: ignore[override]
              context_value: Any = None, raw_variable_values: dict[str, Any] | None = None,
              operation_name: str | None = None, *args: Any, hide_suggestions: bool = False,
              **kwargs: Any) -> Any:
        hide = hide_suggestions or is_anonymous(context_value)
        built = super().build(schema, document, root_value, context_value, raw_variable_values, operation_name,
                              *args, hide_suggestions=hide, **kwargs)
        if isinstance(built, list):
            return variable_errors(schema, built, raw_variable_values or {}, hide)
        return built


def variable_errors(schema: GraphQLSchema, errors: list[GraphQLError], variables: dict[str, Any],
                    hide_suggestions: bool) -> list[GraphQLError]:
    """Errors about variables as one BAD_USER_INPUT client error per variable; other errors unchanged."""
    result: list[GraphQLError] = []
    seen: set[str] = set()
    for error in errors:
        definition = next((node for node in error.nodes or () if isinstance(node, VariableDefinitionNode)), None)
        if definition is None:
            result.append(error)
        elif definition.variable.name.value not in seen:
            seen.add(definition.variable.name.value)
            result.append(_variable_error(schema, definition, error, variables, hide_suggestions))
    return result


def _variable_error(schema: GraphQLSchema, definition: VariableDefinitionNode, error: GraphQLError,
                    variables: dict[str, Any], hide_suggestions: bool) -> GraphQLError:
    """All problems of one variable's value (re-checked for their paths), or graphql-core's message."""
    name = definition.variable.name.value
    problems = _value_problems(schema, definition, variables[name], hide_suggestions) if name in variables else []
    if problems:
        message = f"variable ${name} is invalid: " + "; ".join(f"{p['pointer']}: {p['message']}" for p in problems)
    else:
        message, problems = error.message, [{"pointer": pointer_join("/variables", name), "message": error.message}]
    return GraphQLError(message, definition, original_error=ClientError(message, "BAD_USER_INPUT", problems))


def _value_problems(schema: GraphQLSchema, definition: VariableDefinitionNode, value: Any,
                    hide_suggestions: bool) -> list[dict[str, str]]:
    """Each problem of a variable's value, with its pointer under /variables/<name>."""
    variable_type = type_from_ast(schema, definition.type)
    if variable_type is None:
        return []
    base = pointer_join("/variables", definition.variable.name.value)
    problems: list[dict[str, str]] = []

    def collect(problem: GraphQLError, path: Sequence[str | int]) -> None:
        pointer = base
        for token in path:
            pointer = pointer_join(pointer, token)
        problems.append({"pointer": pointer, "message": _leaf_message(variable_type, path, problem, hide_suggestions)})

    validate_input_value(value, variable_type, collect, hide_suggestions)
    return problems


def _leaf_message(variable_type: Any, path: Sequence[str | int], problem: GraphQLError,
                  hide_suggestions: bool) -> str:
    """graphql-core's message; for an enum the allowed values too (not for anonymous callers)."""
    leaf = variable_type
    for token in path:
        leaf = leaf.of_type if is_non_null_type(leaf) else leaf
        if is_list_type(leaf) and isinstance(token, int):
            leaf = leaf.of_type
        elif is_input_object_type(leaf) and isinstance(token, str) and token in leaf.fields:
            leaf = leaf.fields[token].type
        else:
            return problem.message
    leaf = leaf.of_type if is_non_null_type(leaf) else leaf
    if is_enum_type(leaf) and not hide_suggestions:
        return f"{problem.message} Allowed values: {', '.join(leaf.values)}."
    return problem.message
