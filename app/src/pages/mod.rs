//! One module per page of the route table.

mod admin_audit;
mod admin_roles;
mod admin_settings;
mod admin_users;
mod change_password;
mod choose_password;
mod forgot_password;
mod meetings;
mod not_found;
mod reset_link;
mod sign_in;

pub use admin_audit::AdminAudit;
pub use admin_roles::AdminRoles;
pub use admin_settings::AdminSettings;
pub use admin_users::AdminUsers;
pub use change_password::ChangePassword;
pub use choose_password::ChoosePassword;
pub use forgot_password::ForgotPassword;
pub use meetings::Meetings;
pub use not_found::NotFound;
pub use reset_link::ResetLink;
pub use sign_in::SignIn;
