//! The OpenAPI 3 document of the API, generated from the handlers' annotations and the shared
//! wire types (utoipa), served at `GET /api/openapi.json`.

use utoipa::OpenApi;

use crate::routes::{admin, me, reset, session};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Password reset portal API",
        description = "Self-service password reset by email or SMS, sessions, and user management. Errors are `ErrorBody` with a stable `error` code. Every request must name one of the portal's hosts (the public URL's host and port, `PORTAL_ALLOWED_HOSTS`, an IP address or `localhost`) in `Host`, else 421 `unknown_host` (400 `invalid_host` when it names none or two); a browser's state-changing request from another origin is 403 `csrf`. These apply to every operation and are not repeated on each."
    ),
    paths(
        session::sign_in, session::sign_out,
        me::me, me::policy, me::change_password, me::list_meetings, me::password_strength,
        reset::start, reset::flow_state, reset::forget_flow, reset::resend, reset::verify,
        reset::link_state, reset::open_link, reset::set_password,
        admin::list_users, admin::set_password, admin::unlock, admin::send_reset, admin::assign_role,
        admin::list_roles, admin::create_role, admin::update_role, admin::delete_role,
        admin::list_audit, admin::get_settings, admin::put_settings,
    ),
    tags(
        (name = "reset", description = "Forgot password: code by email or SMS, verify, new password"),
        (name = "session", description = "Sign in and out"),
        (name = "me", description = "The signed-in user"),
        (name = "admin", description = "User Management"),
    )
)]
pub struct ApiDoc;

/// The document as JSON.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
