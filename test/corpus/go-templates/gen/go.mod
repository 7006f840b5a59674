module stash-hooks/gotemplategen

go 1.19
