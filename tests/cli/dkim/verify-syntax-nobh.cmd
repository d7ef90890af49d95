# a signature without bh= is a permerror naming the tag
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/syntax-nobh.eml
