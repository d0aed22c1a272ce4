# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_hubctl_global_optspecs
    string join \n root= authorized-keys-file= h/help V/version
end

function __fish_hubctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_hubctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_hubctl_using_subcommand
    set -l cmd (__fish_hubctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c hubctl -n "__fish_hubctl_needs_command" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_needs_command" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_needs_command" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_needs_command" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "serve" -d 'Serve repositories over HTTP or HTTPS (Git Smart HTTP)'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "cgi" -d 'Answer one HTTP request as a CGI program (a drop-in for git http-backend); also what hubctl does when a CGI server runs it without arguments'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "upload-pack" -d 'Serve a fetch over stdin/stdout, like git-upload-pack'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "receive-pack" -d 'Accept a push over stdin/stdout, like git-receive-pack'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "repo" -d 'Create, list, inspect and configure repositories'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "lfs" -d 'Inspect and clean up repositories\' Git LFS objects'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "lfs-authenticate" -d 'Print what git-lfs-authenticate over SSH answers: the LFS API URL of a repository and a token for it (JSON)'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "user" -d 'Manage user accounts'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "org" -d 'Manage organisations and their members'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "token" -d 'Manage access tokens (HTTP Basic password or Bearer token)'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "keys" -d 'Manage SSH keys and the authorized_keys lines that route them to `hubctl shell`'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "shell" -d 'The SSH forced command: serve what SSH_ORIGINAL_COMMAND asks for, as key N\'s user'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "backup" -d 'Copy the database (SQLite online backup), the repositories and their Git LFS objects into a new directory, consistently, while the server runs'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "restore" -d 'Fill an empty root (--root) from a backup made by `hubctl backup`'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "doctor" -d 'Check a setup: git, the root\'s ownership, the database, hooks, authorized_keys, disk, pack cache, maintenance and (with --url) the running server; says what to fix'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "config" -d 'Read or change global settings'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "pack-objects-hook" -d 'git upload-pack\'s pack-objects, through the pack cache (git runs this itself)'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "hook" -d 'Run one of hubctl\'s git hooks (git runs these itself during a push)'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l listen -d 'Address to listen on (port 0 picks a free port; the chosen address is logged)' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l threads -d 'Worker threads answering requests' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l tls-cert -d 'PEM certificate chain: serve HTTPS (needs --tls-key)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l tls-key -d 'PEM private key for --tls-cert' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l max-push-size -d 'Refuse pushes whose pack is larger than SIZE (e.g. 500MB); unlimited by default' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l log-format -d 'Access log lines (one per request, on stderr) as text or JSON' -r -f -a "text\t'`TIME ADDR USER METHOD PATH STATUS BYTES DURATION SERVICE`, `-` for a missing field'
json\t'One JSON object per line'"
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand cgi" -l max-push-size -d 'Refuse pushes whose pack is larger than SIZE (e.g. 500MB); unlimited by default' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand cgi" -l log-format -d 'Access log lines (one per request, on stderr) as text or JSON' -r -f -a "text\t'`TIME ADDR USER METHOD PATH STATUS BYTES DURATION SERVICE`, `-` for a missing field'
json\t'One JSON object per line'"
complete -c hubctl -n "__fish_hubctl_using_subcommand cgi" -l log -d 'What to write on stderr (the web server\'s error log): "error" (the default) writes failures only; "info" adds one access line per request' -r -f -a "error\t'Failures only'
info\t'Failures and one access line per request'"
complete -c hubctl -n "__fish_hubctl_using_subcommand cgi" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand cgi" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand cgi" -l trust-remote-user -d 'Treat the web server\'s REMOTE_USER as an authenticated hubctl user. Only for web servers that verified the password: nginx sets $remote_user from any Basic header'
complete -c hubctl -n "__fish_hubctl_using_subcommand cgi" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand cgi" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -l timeout -d 'Give up after SECONDS of inactivity (passed to git)' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -l stateless-rpc -d 'Answer a single request and exit (the HTTP transport\'s mode)'
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -l advertise-refs -d 'Only print the ref advertisement (the HTTP transport\'s info/refs)'
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -l strict -d 'Accepted for git-upload-pack compatibility; hubctl always uses the exact directory'
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand receive-pack" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand receive-pack" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand receive-pack" -l stateless-rpc -d 'Answer a single request and exit (the HTTP transport\'s mode)'
complete -c hubctl -n "__fish_hubctl_using_subcommand receive-pack" -l advertise-refs -d 'Only print the ref advertisement (the HTTP transport\'s info/refs)'
complete -c hubctl -n "__fish_hubctl_using_subcommand receive-pack" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand receive-pack" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -f -a "init" -d 'Create a bare repository'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -f -a "list" -d 'List repositories'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -f -a "show" -d 'Show one repository and its settings'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -f -a "set" -d 'Change a repository setting'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -f -a "grant" -d 'Give a user read, write or admin access to a repository'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -f -a "revoke" -d 'Take a user\'s grant on a repository away'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -f -a "rm" -d 'Delete a repository and everything in it'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -f -a "gc" -d 'Repack with a multi-pack index and bitmaps, write the commit-graph, pack refs'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -f -a "rename" -d 'Rename a repository, also into another namespace. Grants, Git LFS objects and locks go with it; the old name answers HTTP clients with a redirect to the new one until a repository takes the old name again'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -f -a "import" -d 'Clone a repository from a URL or a path onto the server, with git\'s progress, and register it'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -f -a "adopt" -d 'Register a repository found on disk (until then only administrators can reach it)'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set grant revoke rm gc rename import adopt help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -l default-branch -d 'Branch HEAD points at' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -l description -d 'One-line description' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -l max-blob-size -d 'Refuse pushes adding non-LFS files larger than SIZE (e.g. 1MB), or "off"' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -l private -d 'Only the owner, organisation members and granted users may see it'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -l public -d 'Anyone may clone it (the default)'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from list" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from list" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of a table'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from show" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from show" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from show" -l json -d 'Print JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from set" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from set" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from grant" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from grant" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from grant" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from grant" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from revoke" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from revoke" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from rm" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from rm" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from rm" -l yes -d 'Confirm the deletion (required)'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from rm" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from gc" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from gc" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from gc" -l auto -d 'Only if the repository needs it (what runs after pushes); skip if another run is busy'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from gc" -l json -d 'Print what was done as JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from gc" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from gc" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from rename" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from rename" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from rename" -l json -d 'Print the renamed repository as JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from rename" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from rename" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from import" -l description -d 'One-line description' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from import" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from import" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from import" -l mirror -d 'Copy every ref as it is at the source (git clone --mirror), not only branches and tags'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from import" -l private -d 'Only the owner, organisation members and granted users may see it'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from import" -l public -d 'Anyone may clone it (the default)'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from import" -s q -l quiet -d 'No progress output'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from import" -l json -d 'Print the imported repository as JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from adopt" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from adopt" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from adopt" -l public -d 'Make it public. A repository found on disk may hold anything, so it is private unless you say otherwise'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from adopt" -l private -d 'Make it private (the default)'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from adopt" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from adopt" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "init" -d 'Create a bare repository'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "list" -d 'List repositories'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one repository and its settings'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "set" -d 'Change a repository setting'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "grant" -d 'Give a user read, write or admin access to a repository'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Take a user\'s grant on a repository away'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Delete a repository and everything in it'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "gc" -d 'Repack with a multi-pack index and bitmaps, write the commit-graph, pack refs'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "rename" -d 'Rename a repository, also into another namespace. Grants, Git LFS objects and locks go with it; the old name answers HTTP clients with a redirect to the new one until a repository takes the old name again'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "import" -d 'Clone a repository from a URL or a path onto the server, with git\'s progress, and register it'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "adopt" -d 'Register a repository found on disk (until then only administrators can reach it)'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and not __fish_seen_subcommand_from ls fsck prune help" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and not __fish_seen_subcommand_from ls fsck prune help" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and not __fish_seen_subcommand_from ls fsck prune help" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and not __fish_seen_subcommand_from ls fsck prune help" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and not __fish_seen_subcommand_from ls fsck prune help" -f -a "ls" -d 'List a repository\'s Git LFS objects (oid and size)'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and not __fish_seen_subcommand_from ls fsck prune help" -f -a "fsck" -d 'Re-hash every Git LFS object of a repository; report corrupt objects (content that does not hash to the name) and misplaced entries (wrong shard directory, bad name, symbolic link). Exits with 1 if it finds any'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and not __fish_seen_subcommand_from ls fsck prune help" -f -a "prune" -d 'Remove Git LFS objects that no commit of any ref points at and that were stored more than the grace period ago. Without --yes only lists them (a dry run)'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and not __fish_seen_subcommand_from ls fsck prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from ls" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from ls" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from ls" -l json -d 'Print JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from ls" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from fsck" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from fsck" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from fsck" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from fsck" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from prune" -l grace -d 'Keep unreferenced objects stored less than DURATION ago (at least 1d)' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from prune" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from prune" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from prune" -l dry-run -d 'Only list what would be removed (the default)'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from prune" -l yes -d 'Remove the objects'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List a repository\'s Git LFS objects (oid and size)'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from help" -f -a "fsck" -d 'Re-hash every Git LFS object of a repository; report corrupt objects (content that does not hash to the name) and misplaced entries (wrong shard directory, bad name, symbolic link). Exits with 1 if it finds any'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Remove Git LFS objects that no commit of any ref points at and that were stored more than the grace period ago. Without --yes only lists them (a dry run)'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs-authenticate" -l user -d 'Act as this user: their access is checked and the token acts for them. Without it the token acts for the operator (full access, but no lock ownership)' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs-authenticate" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs-authenticate" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs-authenticate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand lfs-authenticate" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and not __fish_seen_subcommand_from add list rm help" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and not __fish_seen_subcommand_from add list rm help" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and not __fish_seen_subcommand_from add list rm help" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and not __fish_seen_subcommand_from add list rm help" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and not __fish_seen_subcommand_from add list rm help" -f -a "add" -d 'Create a user (and their namespace)'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and not __fish_seen_subcommand_from add list rm help" -f -a "list" -d 'List users'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and not __fish_seen_subcommand_from add list rm help" -f -a "rm" -d 'Delete a user with their tokens and grants (refused while they own repositories)'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and not __fish_seen_subcommand_from add list rm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from add" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from add" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from add" -l admin -d 'Site administrator: full access to every repository'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from list" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from list" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from rm" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from rm" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from rm" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "add" -d 'Create a user (and their namespace)'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "list" -d 'List users'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Delete a user with their tokens and grants (refused while they own repositories)'
complete -c hubctl -n "__fish_hubctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and not __fish_seen_subcommand_from add list member help" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and not __fish_seen_subcommand_from add list member help" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and not __fish_seen_subcommand_from add list member help" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and not __fish_seen_subcommand_from add list member help" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and not __fish_seen_subcommand_from add list member help" -f -a "add" -d 'Create an organisation (and its namespace)'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and not __fish_seen_subcommand_from add list member help" -f -a "list" -d 'List organisations and their members'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and not __fish_seen_subcommand_from add list member help" -f -a "member" -d 'Manage members'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and not __fish_seen_subcommand_from add list member help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from add" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from add" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from list" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from list" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from member" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from member" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from member" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from member" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from member" -f -a "add" -d 'Add a user to an organisation, or change their role'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from member" -f -a "rm" -d 'Remove a user from an organisation'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from member" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from help" -f -a "add" -d 'Create an organisation (and its namespace)'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from help" -f -a "list" -d 'List organisations and their members'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from help" -f -a "member" -d 'Manage members'
complete -c hubctl -n "__fish_hubctl_using_subcommand org; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "create" -d 'Create a token and print it (the only time it is shown)'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "list" -d 'List tokens (never their secrets)'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "revoke" -d 'Revoke a token; it stops working with the next request'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from create" -l user -d 'The user the token acts as' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from create" -l name -d 'A label to recognise it by' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from create" -l scope -d 'read: clone and fetch only; write: also push' -r -f -a "read\t'Clone and fetch only'
write\t'Clone, fetch and push (within the user\'s own permissions)'"
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from create" -l expires -d 'Lifetime, e.g. 30d, 12h, 90min; no expiry if absent' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from create" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from create" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from create" -l json -d 'Print JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from list" -l user -d 'Only this user\'s tokens' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from list" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from list" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a token and print it (the only time it is shown)'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "list" -d 'List tokens (never their secrets)'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke a token; it stops working with the next request'
complete -c hubctl -n "__fish_hubctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and not __fish_seen_subcommand_from add list show rm authorized-keys help" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and not __fish_seen_subcommand_from add list show rm authorized-keys help" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and not __fish_seen_subcommand_from add list show rm authorized-keys help" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and not __fish_seen_subcommand_from add list show rm authorized-keys help" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and not __fish_seen_subcommand_from add list show rm authorized-keys help" -f -a "add" -d 'Register an OpenSSH public key for a user'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and not __fish_seen_subcommand_from add list show rm authorized-keys help" -f -a "list" -d 'List keys'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and not __fish_seen_subcommand_from add list show rm authorized-keys help" -f -a "show" -d 'Show one key, with its public key'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and not __fish_seen_subcommand_from add list show rm authorized-keys help" -f -a "rm" -d 'Delete a key'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and not __fish_seen_subcommand_from add list show rm authorized-keys help" -f -a "authorized-keys" -d 'Print authorized_keys lines (all keys, or the one matching --key/--fingerprint, as sshd\'s AuthorizedKeysCommand), or write them into a file\'s managed block'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and not __fish_seen_subcommand_from add list show rm authorized-keys help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from add" -l user -d 'The user the key logs in as' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from add" -l title -d 'Title (at most 255 characters) [default: the key\'s comment]' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from add" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from add" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from add" -l json -d 'Print JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from list" -l user -d 'Only this user\'s keys' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from list" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from list" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from show" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from show" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from show" -l json -d 'Print JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from rm" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from rm" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from rm" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from authorized-keys" -l write -d 'Replace hubctl\'s block in FILE (atomically), keeping every other line' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from authorized-keys" -l key-type -d 'Key type offered by the client (sshd\'s %t)' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from authorized-keys" -l key -d 'Base64 key offered by the client (sshd\'s %k)' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from authorized-keys" -l fingerprint -d 'Fingerprint offered by the client (sshd\'s %f). With --key-type/--key as well, the key is looked up and must have this fingerprint' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from authorized-keys" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from authorized-keys" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from authorized-keys" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from authorized-keys" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "add" -d 'Register an OpenSSH public key for a user'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "list" -d 'List keys'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one key, with its public key'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Delete a key'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "authorized-keys" -d 'Print authorized_keys lines (all keys, or the one matching --key/--fingerprint, as sshd\'s AuthorizedKeysCommand), or write them into a file\'s managed block'
complete -c hubctl -n "__fish_hubctl_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand shell" -l key-id -d 'The registered key the client authenticated with' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand shell" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand shell" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand shell" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand shell" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand backup" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand backup" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand backup" -l json -d 'Print a summary as JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand backup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand backup" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand restore" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand restore" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand restore" -l json -d 'Print a summary as JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand restore" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand doctor" -l url -d 'Also run `git ls-remote` against the running server: a repository URL, or the server\'s base URL (the first repository is tried). Credentials may be in the URL' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand doctor" -l min-free -d 'Free disk space below this on the root\'s file system fails the check (a warning below twice this)' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand doctor" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand doctor" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand doctor" -l json -d 'Print JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and not __fish_seen_subcommand_from get set unset help" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and not __fish_seen_subcommand_from get set unset help" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and not __fish_seen_subcommand_from get set unset help" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and not __fish_seen_subcommand_from get set unset help" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and not __fish_seen_subcommand_from get set unset help" -f -a "get" -d 'Print a setting (the stored value, or the default)'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and not __fish_seen_subcommand_from get set unset help" -f -a "set" -d 'Change a setting'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and not __fish_seen_subcommand_from get set unset help" -f -a "unset" -d 'Remove a setting'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and not __fish_seen_subcommand_from get set unset help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from get" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from get" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from get" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from set" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from set" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from unset" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from unset" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from unset" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from unset" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "get" -d 'Print a setting (the stored value, or the default)'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "set" -d 'Change a setting'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "unset" -d 'Remove a setting'
complete -c hubctl -n "__fish_hubctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand pack-objects-hook" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand pack-objects-hook" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand pack-objects-hook" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand pack-objects-hook" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand hook" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand hook" -l authorized-keys-file -d 'authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API); overrides the `authorized-keys-file` setting (hubctl config)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand hook" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand hook" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "serve" -d 'Serve repositories over HTTP or HTTPS (Git Smart HTTP)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "cgi" -d 'Answer one HTTP request as a CGI program (a drop-in for git http-backend); also what hubctl does when a CGI server runs it without arguments'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "upload-pack" -d 'Serve a fetch over stdin/stdout, like git-upload-pack'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "receive-pack" -d 'Accept a push over stdin/stdout, like git-receive-pack'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "repo" -d 'Create, list, inspect and configure repositories'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "lfs" -d 'Inspect and clean up repositories\' Git LFS objects'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "lfs-authenticate" -d 'Print what git-lfs-authenticate over SSH answers: the LFS API URL of a repository and a token for it (JSON)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "user" -d 'Manage user accounts'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "org" -d 'Manage organisations and their members'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "token" -d 'Manage access tokens (HTTP Basic password or Bearer token)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "keys" -d 'Manage SSH keys and the authorized_keys lines that route them to `hubctl shell`'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "shell" -d 'The SSH forced command: serve what SSH_ORIGINAL_COMMAND asks for, as key N\'s user'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "backup" -d 'Copy the database (SQLite online backup), the repositories and their Git LFS objects into a new directory, consistently, while the server runs'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "restore" -d 'Fill an empty root (--root) from a backup made by `hubctl backup`'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "doctor" -d 'Check a setup: git, the root\'s ownership, the database, hooks, authorized_keys, disk, pack cache, maintenance and (with --url) the running server; says what to fix'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "config" -d 'Read or change global settings'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "pack-objects-hook" -d 'git upload-pack\'s pack-objects, through the pack cache (git runs this itself)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "hook" -d 'Run one of hubctl\'s git hooks (git runs these itself during a push)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo lfs lfs-authenticate user org token keys shell backup restore doctor config pack-objects-hook hook help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "init" -d 'Create a bare repository'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "list" -d 'List repositories'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "show" -d 'Show one repository and its settings'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "set" -d 'Change a repository setting'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "grant" -d 'Give a user read, write or admin access to a repository'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "revoke" -d 'Take a user\'s grant on a repository away'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "rm" -d 'Delete a repository and everything in it'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "gc" -d 'Repack with a multi-pack index and bitmaps, write the commit-graph, pack refs'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "rename" -d 'Rename a repository, also into another namespace. Grants, Git LFS objects and locks go with it; the old name answers HTTP clients with a redirect to the new one until a repository takes the old name again'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "import" -d 'Clone a repository from a URL or a path onto the server, with git\'s progress, and register it'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "adopt" -d 'Register a repository found on disk (until then only administrators can reach it)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from lfs" -f -a "ls" -d 'List a repository\'s Git LFS objects (oid and size)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from lfs" -f -a "fsck" -d 'Re-hash every Git LFS object of a repository; report corrupt objects (content that does not hash to the name) and misplaced entries (wrong shard directory, bad name, symbolic link). Exits with 1 if it finds any'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from lfs" -f -a "prune" -d 'Remove Git LFS objects that no commit of any ref points at and that were stored more than the grace period ago. Without --yes only lists them (a dry run)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "add" -d 'Create a user (and their namespace)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "list" -d 'List users'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "rm" -d 'Delete a user with their tokens and grants (refused while they own repositories)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from org" -f -a "add" -d 'Create an organisation (and its namespace)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from org" -f -a "list" -d 'List organisations and their members'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from org" -f -a "member" -d 'Manage members'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "create" -d 'Create a token and print it (the only time it is shown)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "list" -d 'List tokens (never their secrets)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "revoke" -d 'Revoke a token; it stops working with the next request'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "add" -d 'Register an OpenSSH public key for a user'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "list" -d 'List keys'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "show" -d 'Show one key, with its public key'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "rm" -d 'Delete a key'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "authorized-keys" -d 'Print authorized_keys lines (all keys, or the one matching --key/--fingerprint, as sshd\'s AuthorizedKeysCommand), or write them into a file\'s managed block'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "get" -d 'Print a setting (the stored value, or the default)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "set" -d 'Change a setting'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "unset" -d 'Remove a setting'
