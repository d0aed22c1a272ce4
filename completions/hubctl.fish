# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_hubctl_global_optspecs
    string join \n root= h/help V/version
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
complete -c hubctl -n "__fish_hubctl_needs_command" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_needs_command" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "serve" -d 'Serve repositories over HTTP or HTTPS (Git Smart HTTP)'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "cgi" -d 'Answer one HTTP request as a CGI program (a drop-in for git http-backend); also what hubctl does when a CGI server runs it without arguments'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "upload-pack" -d 'Serve a fetch over stdin/stdout, like git-upload-pack'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "receive-pack" -d 'Accept a push over stdin/stdout, like git-receive-pack'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "repo" -d 'Create, list, inspect and configure repositories'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "hook" -d 'Run one of hubctl\'s git hooks (git runs these itself during a push)'
complete -c hubctl -n "__fish_hubctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l listen -d 'Address to listen on (port 0 picks a free port; the chosen address is logged)' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l threads -d 'Worker threads answering requests' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l tls-cert -d 'PEM certificate chain: serve HTTPS (needs --tls-key)' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l tls-key -d 'PEM private key for --tls-cert' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l max-push-size -d 'Refuse pushes whose pack is larger than SIZE (e.g. 500MB); unlimited by default' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand serve" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand cgi" -l max-push-size -d 'Refuse pushes whose pack is larger than SIZE (e.g. 500MB); unlimited by default' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand cgi" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand cgi" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand cgi" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -l timeout -d 'Give up after SECONDS of inactivity (passed to git)' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -l stateless-rpc -d 'Answer a single request and exit (the HTTP transport\'s mode)'
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -l advertise-refs -d 'Only print the ref advertisement (the HTTP transport\'s info/refs)'
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -l strict -d 'Accepted for git-upload-pack compatibility; hubctl always uses the exact directory'
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand upload-pack" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand receive-pack" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand receive-pack" -l stateless-rpc -d 'Answer a single request and exit (the HTTP transport\'s mode)'
complete -c hubctl -n "__fish_hubctl_using_subcommand receive-pack" -l advertise-refs -d 'Only print the ref advertisement (the HTTP transport\'s info/refs)'
complete -c hubctl -n "__fish_hubctl_using_subcommand receive-pack" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand receive-pack" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set help" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set help" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set help" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set help" -f -a "init" -d 'Create a bare repository'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set help" -f -a "list" -d 'List repositories'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set help" -f -a "show" -d 'Show one repository and its settings'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set help" -f -a "set" -d 'Change a repository setting'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and not __fish_seen_subcommand_from init list show set help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -l default-branch -d 'Branch HEAD points at' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -l description -d 'One-line description' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -l max-blob-size -d 'Refuse pushes adding non-LFS files larger than SIZE (e.g. 1MB), or "off"' -r
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from list" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of a table'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from show" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from show" -l json -d 'Print JSON'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from set" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "init" -d 'Create a bare repository'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "list" -d 'List repositories'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one repository and its settings'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "set" -d 'Change a repository setting'
complete -c hubctl -n "__fish_hubctl_using_subcommand repo; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand hook" -l root -d 'Data directory holding repositories and the database [default: the platform data directory, e.g. ~/.local/share/hubctl]' -r -F
complete -c hubctl -n "__fish_hubctl_using_subcommand hook" -s h -l help -d 'Print help'
complete -c hubctl -n "__fish_hubctl_using_subcommand hook" -s V -l version -d 'Print version'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo hook help" -f -a "serve" -d 'Serve repositories over HTTP or HTTPS (Git Smart HTTP)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo hook help" -f -a "cgi" -d 'Answer one HTTP request as a CGI program (a drop-in for git http-backend); also what hubctl does when a CGI server runs it without arguments'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo hook help" -f -a "upload-pack" -d 'Serve a fetch over stdin/stdout, like git-upload-pack'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo hook help" -f -a "receive-pack" -d 'Accept a push over stdin/stdout, like git-receive-pack'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo hook help" -f -a "repo" -d 'Create, list, inspect and configure repositories'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo hook help" -f -a "hook" -d 'Run one of hubctl\'s git hooks (git runs these itself during a push)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and not __fish_seen_subcommand_from serve cgi upload-pack receive-pack repo hook help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "init" -d 'Create a bare repository'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "list" -d 'List repositories'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "show" -d 'Show one repository and its settings'
complete -c hubctl -n "__fish_hubctl_using_subcommand help; and __fish_seen_subcommand_from repo" -f -a "set" -d 'Change a repository setting'
