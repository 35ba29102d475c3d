"""Aurora: exact validator P&L and partner commissions."""
