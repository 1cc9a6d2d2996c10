//! Identity (issue 8): members log in by face or e-ID through an identity provider, and
//! the centre sends them text messages.
//!
//! The application owns the ports ([`ports`]): [`IdentityProvider`] — the authorization
//! code flow of an OIDC-style provider, whose production adapter and simulator live in
//! `anju-idp` — and [`SmsGateway`], with the development sender [`LogSms`].

pub mod ports;

pub use ports::{
    AuthMethod, IdentityProvider, IdpError, LogSms, SentSms, SmsError, SmsGateway,
    VerifiedIdentity, mask_phone,
};
