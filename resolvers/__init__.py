"""What each query and mutation does: rules, transactions, dataloaders."""
