//! The trait inventory downstream crates rely on.

use std::error::Error;
use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::str::FromStr;

use itau_codigo::*;
use static_assertions::assert_impl_all;

assert_impl_all!(CodigoConta: Copy, Clone, Eq, Hash, Ord, Debug, Display, AsRef<str>, FromStr, Send, Sync, Unpin);
assert_impl_all!(CodigoConta: TryFrom<&'static str>, TryFrom<String>, Into<String>);
assert_impl_all!(CodigoConta: serde::Serialize, serde::de::DeserializeOwned, schemars::JsonSchema);
assert_impl_all!(CodigoContaError: Copy, Eq, Error, Display, Send, Sync);
assert_impl_all!(ComposeError: Copy, Eq, Error, Display, Send, Sync);
assert_impl_all!(DocumentoError: Copy, Eq, Error, Display, Send, Sync);
assert_impl_all!(RequestError: Eq, Error, Display, Send, Sync);
assert_impl_all!(ConsultaClienteRequest: Clone, Eq, Debug, Send, Sync, serde::Serialize, serde::de::DeserializeOwned, schemars::JsonSchema);
assert_impl_all!(ConsultaClienteResponse: Clone, Eq, Debug, Default, serde::Serialize, serde::de::DeserializeOwned, schemars::JsonSchema);
assert_impl_all!(RegistroCliente: Clone, Eq, Debug, serde::Serialize, serde::de::DeserializeOwned, schemars::JsonSchema);
assert_impl_all!(Problem: Clone, Eq, Debug, serde::Serialize, serde::de::DeserializeOwned, schemars::JsonSchema);
assert_impl_all!(FieldError: Clone, Eq, Debug, Display, serde::Serialize, From<MemberError>);
assert_impl_all!(FieldErrorCode: Clone, Eq, Hash, Debug, Display, Send, Sync, serde::Serialize, serde::de::DeserializeOwned, schemars::JsonSchema);
assert_impl_all!(ProblemType: Clone, Eq, Hash, Debug, Display, Send, Sync, serde::Serialize, serde::de::DeserializeOwned, schemars::JsonSchema);
assert_impl_all!(UnknownValue: Clone, Eq, Hash, Debug, Display, Send, Sync);
assert_impl_all!(MemberError: Copy, Eq, Error, Display, Send, Sync);
assert_impl_all!(OptionalMember: Copy, Eq, Hash, Debug, Display, Send, Sync);
assert_impl_all!(RegistroCliente: Validate);

#[test]
fn a_codigo_conta_is_18_bytes_inline() {
    assert_eq!(std::mem::size_of::<CodigoConta>(), 18);
}
