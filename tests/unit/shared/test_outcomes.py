"""Each operation's error statuses, read from its code (``shared/web/outcomes.py``): the real views of the
services, down through their handlers and domain models to the exceptions and each service's table."""

from __future__ import annotations

from services.content.api import queries
from services.content.api.errors import STATUS as CONTENT_ERRORS
from services.identity.api import privacy, sessions, users
from services.identity.api.errors import STATUS as IDENTITY_ERRORS
from services.linking.api import companies
from services.linking.api.errors import STATUS as LINKING_ERRORS
from shared.web.outcomes import map_errors, openapi_path, outcomes

map_errors(CONTENT_ERRORS)  # as each service's create_app does (register_error_table)
map_errors(LINKING_ERRORS)
map_errors(IDENTITY_ERRORS)


def test_a_use_case_outcome_is_found_through_the_handlers():
    assert 409 not in outcomes(users.register)  # the same 201 whether or not the address had an account
    found = outcomes(sessions.login)
    assert found[401] == {"invalid_credentials"} and found[429] == {"too_many_attempts"}


def test_the_domain_models_and_the_services_tables_are_followed():
    assert "last_manager" in outcomes(companies.remove_member)[409]  # linking's domain model
    assert outcomes(queries.update_case)[409] == {"invalid_transition"}  # content's table of domain errors
    assert {"reauth_required"} <= outcomes(users.grant)[428]  # a shared check the view calls


def test_every_status_of_a_download_with_its_codes():
    found = outcomes(privacy.download_export)
    assert found[410] == {"download_link_expired", "export_expired"}
    assert found[403] == {"download_link_invalid"} and found[409] == {"export_not_ready"}


def test_rules_become_openapi_paths():
    assert openapi_path("/users/<string:user_id>/roles/<role>") == "/users/{user_id}/roles/{role}"
