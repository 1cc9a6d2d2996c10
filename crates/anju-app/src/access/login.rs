//! See the module list in `access`.
