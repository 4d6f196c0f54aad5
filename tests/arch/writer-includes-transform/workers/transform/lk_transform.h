/* stands for the transform's header */
