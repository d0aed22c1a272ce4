complete --keep-order --exclusive --command hubctl --arguments "(HUBCTL_COMPLETE=fish hubctl -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
