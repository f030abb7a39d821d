"""Data sharing and interoperability (数据共享与交换): resource catalog with sharing attributes,
grants, external system clients, change feeds and exports, data-quality report (issue #9)."""


def init_sharing(app) -> None:
    """Hooks that must run on every request or flush: the change log behind the feeds, and the
    scope and rate-limit check of external clients (before the Idempotency-Key is stored)."""
    from . import clients
    from .changes import install_change_hooks

    install_change_hooks()
    app.before_request(clients.check_request)


def register(app, api) -> None:
    """Blueprints, the external-client security scheme in the OpenAPI document, CLI."""
    from . import api as sharing_api
    from . import cli, views

    for blueprint in sharing_api.BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(views.bp)
    api.spec.components.security_scheme(
        "externalClient",
        {
            "type": "apiKey",
            "in": "header",
            "name": "Authentication-Token",
            "description": "Token of an external system client (registered by an administrator, see "
            "docs/api.md). The client acts for its agency or through its grants; each "
            "operation's `x-client-scope` names the scope it needs; calls outside its "
            "scopes answer 403, above its rate limit 429 with Retry-After.",
        },
    )
    app.cli.add_command(cli.sharing_cli)
