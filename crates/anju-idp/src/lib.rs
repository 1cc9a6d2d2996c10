//! Member login by face or e-ID through an identity provider (issue 8).
//!
//! * [`token`]: the ID token — a compact JWS signed with HMAC-SM3 (`"alg":"HSM3"`) under
//!   the client secret — and its checks;
//! * [`protocol`]: the OIDC-style authorization code flow (paths, parameters, answers,
//!   the callback);
//! * [`client`]: [`client::IdpClient`], the production adapter of
//!   [`anju_app::identity::IdentityProvider`];
//! * [`sim`]: `anju idp-sim`, a provider serving the protocol from a list of people, with
//!   fault injection.

pub mod client;
pub mod protocol;
pub mod sim;
pub mod token;
