"""The partner link: private security and EMS control rooms work panic alerts over a
signed webhook (ASAP-like; the message format is documented in `link`)."""
