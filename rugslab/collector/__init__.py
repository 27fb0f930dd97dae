"""The live collector: a listen-only Socket.IO client (`client`), the raw frame journal
(`journal`) and the wiring that streams frames into the lake (`run`)."""
