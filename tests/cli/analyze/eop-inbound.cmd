# hand-made EOP inbound message: Gmail to Exchange Online hops, EOP's Authentication-Results (no authserv-id, bare action=), X-Forefront-Antispam-Report, X-Microsoft-Antispam BCL, mailbox delivery
smexop analyze @DATA@/analyze/eop-inbound.eml
