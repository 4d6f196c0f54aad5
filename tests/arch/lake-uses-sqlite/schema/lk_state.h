/* stands for state.db's header */
