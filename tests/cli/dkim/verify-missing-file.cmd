# an unreadable FILE
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @TMP@/no-such.eml
exit 2
