import CARBSCommandLine

await CarbsCommand.main()
