//! What an attacker (or an unlucky network) tries first: floods over the
//! WebSocket, made-up credentials, sessions outliving their credentials,
//! removed members under lost and reordered signals, login storms, slow
//! statements. SPEC §6.1 and issue "Close the holes".
